"""NTED training losses: perceptual (VGG19), attention reconstruction, face, GAN (+ unreleased: SSIM, part colour)."""

from keras_nted.losses.adversarial import discriminator_gan_loss
from keras_nted.losses.adversarial import generator_gan_loss
from keras_nted.losses.adversarial import lazy_r1_weight
from keras_nted.losses.adversarial import r1_penalty
from keras_nted.losses.attention import AttentionReconstructionLoss
from keras_nted.losses.attention import attention_reconstruction_loss
from keras_nted.losses.face import FaceLoss
from keras_nted.losses.face import face_crop
from keras_nted.losses.part_color import part_color_loss
from keras_nted.losses.perceptual import PerceptualLoss
from keras_nted.losses.perceptual import downsample_half
from keras_nted.losses.perceptual import gram_matrix
from keras_nted.losses.perceptual import vgg19_weights_from_torch
from keras_nted.losses.ssim import ssim_loss

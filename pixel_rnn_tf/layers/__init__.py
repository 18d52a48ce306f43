"""Keras 3 layers of PixelRNN and PixelCNN."""

from pixel_rnn_tf.layers.blocks import DiagonalBiLSTMBlock
from pixel_rnn_tf.layers.blocks import OutputStack
from pixel_rnn_tf.layers.blocks import PixelCNNBlock
from pixel_rnn_tf.layers.blocks import ResidualBlock
from pixel_rnn_tf.layers.blocks import RowLSTMBlock
from pixel_rnn_tf.layers.diagonal_lstm import DiagonalBiLSTM
from pixel_rnn_tf.layers.diagonal_lstm import DiagonalLSTM
from pixel_rnn_tf.layers.gated_pixel_cnn import GatedPixelCNNBlock
from pixel_rnn_tf.layers.gated_pixel_cnn import GatedStem
from pixel_rnn_tf.layers.gated_pixel_cnn import VerticalConv2D
from pixel_rnn_tf.layers.masked_conv import MaskedConv2D
from pixel_rnn_tf.layers.row_lstm import RowLSTM
from pixel_rnn_tf.layers.spatial_lstm import lstm_update
